"""Runs one gcloud command in the zygote (zygote.py): passes this process's stdin, stdout and stderr,
its environment, working directory and arguments, and exits with gcloud's exit code."""

import json
import os
import socket
import sys

connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
connection.connect(os.environ['GCLOUD_ZYGOTE_SOCKET'])
socket.send_fds(connection, [b'x'], [0, 1, 2])
connection.sendall(json.dumps({'args': sys.argv[1:], 'env': dict(os.environ), 'cwd': os.getcwd()}).encode())
connection.shutdown(socket.SHUT_WR)
reply = b''
while True:
    chunk = connection.recv(64)
    if not chunk:
        break
    reply += chunk
sys.exit(int(reply) if reply else 1)
