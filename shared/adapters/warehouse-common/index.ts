/** What every Warehouse backend does the same way: row validation against the schema, keys, dedupe and replace checks. */
export { checkReplace } from './warehouse-replace.js';
export { dedupeByKey, parseTimestamp, rowKey, validateRows } from './warehouse-rows.js';
