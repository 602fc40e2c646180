// Copies what tsc does not emit into dist/: icons, codex files, and the package entry.
const { src, dest, parallel } = require('gulp');

function copyIconsAndCodex() {
	return src(['nodes/**/*.{png,svg,node.json}', 'credentials/**/*.{png,svg}'], {
		base: '.',
		encoding: false,
	}).pipe(dest('dist'));
}

function copyEntry() {
	return src('index.js').pipe(dest('dist'));
}

exports['build:icons'] = parallel(copyIconsAndCodex, copyEntry);
