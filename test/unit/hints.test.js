// @ts-check
'use strict';
const { hintLargeExport, LARGE_EXPORT_ITEMS } = require('../../nodes/shared/hints');

/** @returns {{ context: import('n8n-workflow').IExecuteFunctions, hints: import('n8n-workflow').NodeExecutionHint[] }} */
function contextWithHints() {
	/** @type {import('n8n-workflow').NodeExecutionHint[]} */
	const hints = [];
	const context = { addExecutionHints: (...added) => hints.push(...added) };
	return { context: /** @type {any} */ (context), hints };
}

describe('large-export hint', () => {
	test('an export at the threshold gets no hint', () => {
		const { context, hints } = contextWithHints();
		hintLargeExport(context, LARGE_EXPORT_ITEMS);
		expect(hints).toEqual([]);
	});

	test('one item more gets a warning in the output pane that names CSV and Start Page', () => {
		const { context, hints } = contextWithHints();
		hintLargeExport(context, LARGE_EXPORT_ITEMS + 1);
		expect(hints).toHaveLength(1);
		expect(hints[0]).toMatchObject({ type: 'warning', location: 'outputPane' });
		expect(hints[0].message).toContain(`${LARGE_EXPORT_ITEMS + 1} items`);
		expect(hints[0].message).toMatch(/CSV.*Start Page/);
	});

	test('an n8n without execution hints runs the export unchanged', () => {
		expect(() => hintLargeExport(/** @type {any} */ ({}), LARGE_EXPORT_ITEMS * 10)).not.toThrow();
	});
});
