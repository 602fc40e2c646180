// Unit, engine and reliability suites; the real-n8n end-to-end suite runs on its own (npm run test:e2e).
module.exports = {
	rootDir: '..',
	testEnvironment: 'node',
	roots: ['<rootDir>/test'],
	testMatch: ['**/*.test.js'],
	testPathIgnorePatterns: ['/node_modules/', '/test/e2e/'],
	transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
	testTimeout: 60_000,
	// One throwaway n8n user folder for the whole run, removed at its end.
	globalSetup: '<rootDir>/test/support/jest-setup.js',
	globalTeardown: '<rootDir>/test/support/jest-teardown.js',
};
