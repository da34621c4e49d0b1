// Serves index.js's "dedup" function on 127.0.0.1:PORT only. The functions-framework CLI does
// the same (getServer with the registered function) but binds every interface, and the bench
// stays on loopback. Usage: node serve.js PORT
'use strict';

require('./index.js');
const {getTestServer} = require('@google-cloud/functions-framework/testing');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node serve.js PORT');
  process.exit(2);
}
getTestServer('dedup')
  .listen(port, '127.0.0.1', () => console.log(`serving dedup on 127.0.0.1:${port}`))
  .setTimeout(0);
