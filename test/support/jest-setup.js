// @ts-check
'use strict';
// One throwaway n8n user folder for a whole jest run (n8n-core writes its config there), made before
// the workers start so that they inherit it; jest-teardown.js removes it when the run ends.
const fs = require('fs');
const os = require('os');
const path = require('path');

module.exports = async () => {
	process.env.N8N_USER_FOLDER = fs.mkdtempSync(path.join(os.tmpdir(), 'evergage-n8n-jest-'));
};
