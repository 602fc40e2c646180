import type { IExecuteFunctions, NodeExecutionHint } from 'n8n-workflow';

import { hintLargeExport, LARGE_EXPORT_ITEMS } from '../../nodes/shared/hints';

function contextWithHints(): { context: IExecuteFunctions; hints: NodeExecutionHint[] } {
	const hints: NodeExecutionHint[] = [];
	const context = { addExecutionHints: (...added: NodeExecutionHint[]) => hints.push(...added) };
	return { context: context as unknown as IExecuteFunctions, hints };
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
		expect(() => hintLargeExport({} as IExecuteFunctions, LARGE_EXPORT_ITEMS * 10)).not.toThrow();
	});
});
