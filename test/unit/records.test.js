// @ts-check
'use strict';
const { parseJsonPage, RecordCollector } = require('../../nodes/shared/records');
const { CsvAssembler, splitCsvRows } = require('../../nodes/shared/csv');
const { IncompleteBodyError, ServiceDataError } = require('../../nodes/shared/transport');

describe('RecordCollector', () => {
	const page = (...entries) => entries.map(([name, v]) => ({ name, v }));
	const records = (collector) => collector.takeItems().map((item) => item.json);

	test('keeps the last copy of an account, at its first position', () => {
		const collector = new RecordCollector(true);
		collector.add(page(['a', 1], ['b', 1], ['a', 2]));
		collector.add(page(['c', 1], ['b', 2], ['a', 3]));

		expect(records(collector)).toEqual(page(['a', 3], ['b', 2], ['c', 1]));
	});

	test('without deduplication, every record is kept as sent', () => {
		const collector = new RecordCollector(false);
		collector.add(page(['a', 1], ['a', 2]));

		expect(records(collector)).toEqual(page(['a', 1], ['a', 2]));
	});

	test('a limit counts distinct accounts and still takes later copies of the kept ones', () => {
		const collector = new RecordCollector(true, 2);
		collector.add(page(['a', 1], ['b', 1], ['c', 1], ['a', 2]));

		expect(collector.stillWanted).toBe(0);
		expect(records(collector)).toEqual(page(['a', 2], ['b', 1]));
	});

	test('items share one pairing object and are made as records arrive', () => {
		const pairedItem = { item: 3 };
		const collector = new RecordCollector(true, Infinity, pairedItem);
		collector.add(page(['a', 1], ['b', 1]));
		const items = collector.takeItems();

		expect(items).toEqual([{ json: { name: 'a', v: 1 }, pairedItem }, { json: { name: 'b', v: 1 }, pairedItem }]);
		expect(items[0].pairedItem).toBe(items[1].pairedItem);
	});

	test('tells how many records of a page were new', () => {
		const collector = new RecordCollector(true);
		expect(collector.add(page(['a', 1], ['b', 1], ['a', 2]))).toBe(2);
		expect(collector.add(page(['b', 2], ['a', 3]))).toBe(0);
		expect(collector.add([{ v: 1 }, ...page(['c', 1])])).toBe(2);
		expect(new RecordCollector(false).add(page(['a', 1]))).toBeUndefined();
	});

	test('a name sent as a number and as text is one account', () => {
		const collector = new RecordCollector(true);
		collector.add([{ name: 42, v: 1 }, { name: '42', v: 2 }]);

		expect(records(collector)).toEqual([{ name: '42', v: 2 }]);
	});

	test('many names, with repeats far apart, keep first positions and last copies', () => {
		const collector = new RecordCollector(true);
		const count = 50_000;
		for (let from = 0; from < count; from += 1000) {
			collector.add(Array.from({ length: 1000 }, (_, i) => ({ name: `acct-${from + i}`, v: 1 })));
		}
		// Every seventh account again, with names that differ only in their last characters.
		const repeated = Math.floor(count / 7);
		const repeats = Array.from({ length: repeated }, (_, i) => ({ name: `acct-${i * 7}`, v: 2 }));
		expect(collector.add(repeats)).toBe(0);
		const kept = records(collector);

		expect(kept).toHaveLength(count);
		kept.forEach((record, i) => expect(record).toEqual({ name: `acct-${i}`, v: i % 7 === 0 && i / 7 < repeated ? 2 : 1 }));
	});

	test('records without a name are kept, never merged', () => {
		const collector = new RecordCollector(true);
		collector.add([{ v: 1 }, { v: 2 }]);

		expect(records(collector)).toHaveLength(2);
	});
});

describe('parseJsonPage', () => {
	test('a cut-off body asks for another try; it is never read as the last page', () => {
		expect(() => parseJsonPage('[{"name":"a"},{"na', 0)).toThrow(IncompleteBodyError);
		expect(() => parseJsonPage('', 0)).toThrow(IncompleteBodyError);
	});

	test('JSON that is not a list is refused', () => {
		expect(() => parseJsonPage('{"error":"x"}', 0)).toThrow('not a list');
	});

	test('a list of records is returned as is', () => {
		expect(parseJsonPage('[{"name":"ü"}]', 0)).toEqual([{ name: 'ü' }]);
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
		expect(splitCsvRows('\nh\nx\n\ny\n')).toEqual({ rows: ['h', 'x', '', 'y'], fieldCounts: [1, 1, 1, 1], lineBreak: '\n', bom: false });
	});

	test('text that ends inside quotes, or in the middle of a row, is incomplete', () => {
		expect(() => splitCsvRows('h\r\n"unfinished')).toThrow(IncompleteBodyError);
		expect(() => splitCsvRows('a,b,c\r\n1,2,3\r\n4,5')).toThrow(IncompleteBodyError);
		expect(splitCsvRows('a,b,c\r\n1,"x,y",3\r\n').rows).toHaveLength(2);
		expect(splitCsvRows('a,b,c\r\n1,2,3\r\n\r\n').rows).toEqual(['a,b,c', '1,2,3', '']);
	});

	test('a quote where RFC 4180 allows none is a malformed page, naming page and row', () => {
		expect(() => splitCsvRows('h,i\r\nab"c,1\r\n', 3)).toThrow(
			new ServiceDataError('Evergage sent page 3 as malformed CSV: a quote inside an unquoted field (row 2)', ''),
		);
		expect(() => splitCsvRows('h,i\r\n"ab"c,1\r\n')).toThrow(/text after the closing quote of a field \(row 2\)/);
		expect(() => splitCsvRows('h,i\r\n"ab"c,1\r\n')).toThrow(ServiceDataError);
		expect(splitCsvRows('h,i\r\n"a""b",""\r\n').rows).toEqual(['h,i', '"a""b",""']);
	});
});

describe('CsvAssembler', () => {
	const assembler = () => new CsvAssembler((message) => new Error(message));

	test('blank rows are records of a one-column export, and dropped from wider ones', () => {
		const one = assembler();
		expect(one.dataRows(splitCsvRows('email\r\na@x\r\n\r\nb@x'), 0)).toEqual(['a@x', '', 'b@x']);
		const wide = assembler();
		expect(wide.dataRows(splitCsvRows('a,b\r\n1,2\r\n\r\n3,4\r\n'), 0)).toEqual(['1,2', '3,4']);
	});
});
