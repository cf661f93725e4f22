import type { TableSchema } from '../../shared/domain/tables.js';

/** Words of BigQuery SQL that are neither tables nor columns (functions are recognised by their parenthesis). */
const KEYWORDS = new Set(
  `select from where and or not as group by order asc desc join inner left right outer full cross using on in is null true false
   distinct limit having qualify over partition case when then else end interval with union all except exists between like
   int64 float64 numeric string bool boolean timestamp date datetime json day hour minute second week month year`
    .split(/\s+/)
    .filter(Boolean),
);

/** What a query names, and what in it does not exist in the schema. */
export interface SqlReferences {
  tables: string[];
  columns: string[];
  unknownTables: string[];
  unknownColumns: string[];
}

/**
 * The tables (`mlops.<table>`, optionally `` `<project>.mlops.<table>` ``) and column names of a
 * Grafana BigQuery query, checked against the schema. String literals, Grafana variables and macro
 * names are set aside; an identifier counts as a column unless it is a keyword, a function name, or an
 * alias the query itself introduces with AS.
 */
export function sqlReferences(sql: string, schema: TableSchema[], dataset = 'mlops'): SqlReferences {
  let text = sql
    .replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "''")
    .replace(/\$__timeGroup\(\s*([\w.]+)\s*,[^)]*\)/g, '($1)')
    .replace(/\$__\w+/g, '')
    .replace(/\$\{[^}]*\}|\$\w+/g, '');
  const tables: string[] = [];
  const tableRef = new RegExp(String.raw`\`?(?:[\w-]*\.)?\b${dataset}\.(\w+)\`?`, 'g');
  text = text.replace(tableRef, (_, table: string) => {
    tables.push(table);
    return ' ';
  });
  const aliases = new Set([...text.matchAll(/\bAS\s+(\w+)/gi)].map((match) => match[1]!.toLowerCase()));
  const known = new Map(schema.map((table) => [table.name, new Set(table.columns.map((column) => column.name))]));
  const columns = new Set<string>();
  for (const match of text.matchAll(/\b([A-Za-z_]\w*)\b(\s*\()?/g)) {
    const [, word, call] = match;
    const lower = word!.toLowerCase();
    if (call || KEYWORDS.has(lower) || aliases.has(lower) || /^\d/.test(word!)) continue;
    columns.add(word!);
  }
  const referenced = tables.flatMap((table) => [...(known.get(table) ?? [])]);
  return {
    tables: [...new Set(tables)],
    columns: [...columns],
    unknownTables: [...new Set(tables.filter((table) => !known.has(table)))],
    unknownColumns: [...columns].filter((column) => !referenced.includes(column)),
  };
}
