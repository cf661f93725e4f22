"""A gcloud that starts once and forks per command.

Importing gcloud's modules is most of gcloud's ~1 s start-up; this process imports them once (gcloud's
main module, the command groups and API clients it is told to warm), then for each connection on its
Unix socket forks a child that takes over the caller's stdin, stdout and stderr, environment, working
directory and arguments, and runs gcloud's own main() exactly as lib/gcloud.py does. The exit code
goes back over the socket (see client.py).

Usage: zygote.py <sdk lib dir> <socket path> <warm-up JSON: {"commands": [[...]], "apis": [...]}>
"""

import json
import os
import signal
import socket
import sys

SDK_LIB = sys.argv[1]
SOCKET_PATH = sys.argv[2]
WARM_UP = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
sys.path.insert(0, SDK_LIB)
sys.path.insert(0, os.path.join(SDK_LIB, 'third_party'))

import googlecloudsdk.gcloud_main as gcloud_main  # noqa: E402  (the expensive import, done once)
from googlecloudsdk.api_lib.util import apis  # noqa: E402
from googlecloudsdk.core.configurations import named_configs  # noqa: E402


def warm_up():
    """Imports the modules of the given command paths and API clients; a path gcloud lacks is skipped."""
    cli = gcloud_main.CreateCLI([])
    for path in WARM_UP.get('commands', []):
        try:
            cli.IsValidCommand(path)
        except Exception:  # noqa: BLE001  (warming is best effort; the command itself reports errors)
            pass
    for api in WARM_UP.get('apis', []):
        try:
            version = apis.ResolveVersion(api)
            apis.GetMessagesModule(api, version)
            apis.GetClientClass(api, version)
        except Exception:  # noqa: BLE001
            pass


def read_request(connection):
    data = b''
    while True:
        chunk = connection.recv(1 << 16)
        if not chunk:
            return json.loads(data.decode())
        data += chunk


def run_command(connection, descriptors):
    request = read_request(connection)
    for target, descriptor in enumerate(descriptors):
        os.dup2(descriptor, target)
    os.chdir(request['cwd'])
    os.environ.clear()
    os.environ.update(request['env'])
    named_configs.ActivePropertiesFile.Invalidate()  # read this caller's configuration, not the zygote's
    sys.argv = ['gcloud'] + request['args']
    code = 0
    try:
        gcloud_main.main()
    except SystemExit as exit_request:
        code = exit_request.code if isinstance(exit_request.code, int) else (0 if exit_request.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    connection.sendall(str(code).encode())
    os._exit(code)


def serve():
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(SOCKET_PATH)
    server.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    print('ready', flush=True)
    while True:
        connection, _ = server.accept()
        _, descriptors, _, _ = socket.recv_fds(connection, 1, 3)
        if os.fork() == 0:
            server.close()
            run_command(connection, descriptors)
        for descriptor in descriptors:
            os.close(descriptor)
        connection.close()


warm_up()
serve()
