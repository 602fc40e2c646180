// Development entry, not published: n8n loads the files named in package.json's "n8n" block, so the
// package ships no entry of its own (its files stay free of `path` and `__dirname`, which n8n's
// scanner refuses). The demo, the benchmark and local scripts get every credential and node class of
// a build from here; the list is that same block, so a new node needs no edit in this file.
const path = require('path');
const { n8n } = require('./package.json');

/**
 * The classes of the build in `distDir` (default: this checkout's dist/), keyed by class name.
 * @returns {Record<string, any>}
 */
function loadBuild(distDir = path.join(__dirname, 'dist')) {
	const classes = {};
	for (const file of [...n8n.credentials, ...n8n.nodes]) {
		Object.assign(classes, require(path.join(distDir, path.relative('dist', file))));
	}
	return classes;
}

module.exports = Object.assign(loadBuild(), { loadBuild });
