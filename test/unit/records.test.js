// @ts-check
'use strict';
const { parseJsonPage, RecordCollector } = require('../../nodes/shared/records');
const { splitCsvRows } = require('../../nodes/shared/csv');
const { IncompleteBodyError } = require('../../nodes/shared/transport');

describe('RecordCollector', () => {
	const page = (...entries) => entries.map(([name, v]) => ({ name, v }));

	test('keeps the last copy of an account, at its first position', () => {
		const collector = new RecordCollector(true);
		collector.add(page(['a', 1], ['b', 1], ['a', 2]));
		collector.add(page(['c', 1], ['b', 2], ['a', 3]));

		expect(collector.records).toEqual(page(['a', 3], ['b', 2], ['c', 1]));
	});

	test('without deduplication, every record is kept as sent', () => {
		const collector = new RecordCollector(false);
		collector.add(page(['a', 1], ['a', 2]));

		expect(collector.records).toEqual(page(['a', 1], ['a', 2]));
	});

	test('a limit counts distinct accounts and still takes later copies of the kept ones', () => {
		const collector = new RecordCollector(true, 2);
		collector.add(page(['a', 1], ['b', 1], ['c', 1], ['a', 2]));

		expect(collector.records).toEqual(page(['a', 2], ['b', 1]));
		expect(collector.stillWanted).toBe(0);
	});

	test('records without a name are kept, never merged', () => {
		const collector = new RecordCollector(true);
		collector.add([{ v: 1 }, { v: 2 }]);

		expect(collector.records).toHaveLength(2);
	});
});

describe('parseJsonPage', () => {
	test('a cut-off body asks for another try; it is never read as the last page', () => {
		expect(() => parseJsonPage(Buffer.from('[{"name":"a"},{"na'), 0)).toThrow(IncompleteBodyError);
		expect(() => parseJsonPage(Buffer.from(''), 0)).toThrow(IncompleteBodyError);
	});

	test('JSON that is not a list is refused', () => {
		expect(() => parseJsonPage(Buffer.from('{"error":"x"}'), 0)).toThrow('not a list');
	});

	test('a list of records is returned as is', () => {
		expect(parseJsonPage(Buffer.from('[{"name":"ü"}]'), 0)).toEqual([{ name: 'ü' }]);
	});
});

describe('splitCsvRows', () => {
	test('a line break inside quotes stays in its row; CRLF and LF both end rows', () => {
		expect(splitCsvRows('h1,h2\r\n"a\r\nb",1\r\n"say ""hi""",2\r\n')).toEqual({
			rows: ['h1,h2', '"a\r\nb",1', '"say ""hi""",2'],
			fieldCounts: [2, 2, 2],
			lineBreak: '\r\n',
			bom: false,
		});
		expect(splitCsvRows('h\nx\n\ny')).toEqual({ rows: ['h', 'x', 'y'], fieldCounts: [1, 1, 1], lineBreak: '\n', bom: false });
	});

	test('text that ends inside quotes, or in the middle of a row, is incomplete', () => {
		expect(() => splitCsvRows('h\r\n"unfinished')).toThrow(IncompleteBodyError);
		expect(() => splitCsvRows('a,b,c\r\n1,2,3\r\n4,5')).toThrow(IncompleteBodyError);
		expect(splitCsvRows('a,b,c\r\n1,"x,y",3\r\n').rows).toHaveLength(2);
	});
});
