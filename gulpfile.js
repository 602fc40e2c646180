// Copies what tsc does not emit into dist/: icons and codex files.
const { src, dest } = require('gulp');

function copyIconsAndCodex() {
	return src(['nodes/**/*.{png,svg,node.json}', 'credentials/**/*.{png,svg}'], {
		base: '.',
		encoding: false,
	}).pipe(dest('dist'));
}

exports['build:icons'] = copyIconsAndCodex;
