// @ts-check
'use strict';
const fs = require('fs');

/** Removes the run's n8n user folder made by jest-setup.js. */
module.exports = async () => {
	const folder = process.env.N8N_USER_FOLDER;
	if (folder?.includes('evergage-n8n-jest-')) fs.rmSync(folder, { recursive: true, force: true });
};
