// Package entry: n8n loads the files named in package.json's "n8n" block; this re-exports the same
// classes for code that requires the package. The build copies it into dist/ (the published "main"),
// so it resolves the compiled files from either place.
const path = require('path');

const built = path.basename(__dirname) === 'dist' ? __dirname : path.join(__dirname, 'dist');

module.exports = {
	...require(path.join(built, 'credentials', 'EvergageApi.credentials.js')),
	...require(path.join(built, 'nodes', 'EvergageAccountExport', 'EvergageAccountExport.node.js')),
	...require(path.join(built, 'nodes', 'EvergageUserExport', 'EvergageUserExport.node.js')),
	...require(path.join(built, 'nodes', 'EvergageTrigger', 'EvergageTrigger.node.js')),
};
