// Serves one of index.js's functions (default "dedup") on 127.0.0.1:PORT only. The
// functions-framework CLI does the same (getServer with the registered function) but binds
// every interface, and the bench stays on loopback. Usage: node serve.js PORT [TARGET]
'use strict';

require('./index.js');
const {getTestServer} = require('@google-cloud/functions-framework/testing');

const port = Number(process.argv[2]);
const target = process.argv[3] || 'dedup';
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node serve.js PORT [TARGET]');
  process.exit(2);
}
getTestServer(target)
  .listen(port, '127.0.0.1', () => console.log(`serving ${target} on 127.0.0.1:${port}`))
  .setTimeout(0);
