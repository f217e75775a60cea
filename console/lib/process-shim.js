// @tanstack/virtual-core's ES module build reads `process.env.NODE_ENV` (a bundler would put the value
// in). Served as it is, a browser has no `process`: this gives it the production value before the
// library runs. Imported first by app.js; defines nothing else.
const g = /** @type {any} */ (globalThis);
if (!g.process) g.process = { env: { NODE_ENV: 'production' } };
