/** The file name MLflow gives a model folder's descriptor. */
export const MLMODEL_FILE = 'MLmodel';

interface YamlLine {
  indent: number;
  key: string;
  value: string;
}

/**
 * The `flavors.onnx.data` entry of an MLmodel file (the ONNX file's path inside the model folder,
 * `model.onnx` as mlflow.onnx.log_model writes it), or undefined when the model has no onnx flavor.
 * MLmodel is YAML, but only this nested key is needed, so it is read by indentation alone.
 */
export function onnxDataPath(mlmodel: string): string | undefined {
  const lines = yamlKeys(mlmodel);
  const flavors = child(lines, 0, lines.length, -1, 'flavors');
  const onnx = flavors && child(lines, flavors.start, flavors.end, flavors.indent, 'onnx');
  const data = onnx && child(lines, onnx.start, onnx.end, onnx.indent, 'data');
  const value = data && unquote(data.value);
  return value ? value : undefined;
}

/** The `key: value` lines of a YAML document with their indentation; list items, comments and blanks are skipped. */
function yamlKeys(text: string): YamlLine[] {
  return text
    .split(/\r?\n/)
    .map((line) => /^( *)([^\s#:-][^:]*):(?:\s+(.*))?$/.exec(line.replace(/\s+#.*$/, '')))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ indent: match[1]!.length, key: match[2]!.trim(), value: (match[3] ?? '').trim() }));
}

/**
 * The entry `key` directly below the mapping whose own lines are [start, end) and whose key sits at
 * `parentIndent`: its children are the lines after it, up to the next line no deeper than it.
 */
function child(lines: YamlLine[], start: number, end: number, parentIndent: number, key: string): (YamlLine & { start: number; end: number }) | undefined {
  const level = lines.slice(start, end).find((line) => line.indent > parentIndent)?.indent;
  if (level === undefined) return undefined;
  for (let index = start; index < end; index++) {
    const line = lines[index]!;
    if (line.indent !== level || line.key !== key) continue;
    let last = index + 1;
    while (last < end && lines[last]!.indent > level) last++;
    return { ...line, start: index + 1, end: last };
  }
  return undefined;
}

function unquote(value: string): string {
  const quoted = /^(['"])(.*)\1$/.exec(value);
  return quoted ? quoted[2]! : value;
}
