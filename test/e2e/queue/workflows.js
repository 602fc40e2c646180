'use strict';
// Workflows for the queue suite and the measuring script: a Webhook trigger (so that main enqueues
// the execution and a worker runs it) in front of the export.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const L = require('../lib');

const EXPORT = 'Evergage Account Export';
const EXTRACT = 'Extract from File';
const BATCH_NODE = 'Export one batch';

function webhookNode(hookPath) {
	return {
		id: crypto.randomUUID(),
		name: 'Webhook',
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		position: [0, 0],
		webhookId: crypto.randomUUID(),
		parameters: { httpMethod: 'POST', path: hookPath, responseMode: 'onReceived', options: {} },
	};
}

const link = (from, to) => ({ [from]: { main: [[{ node: to, type: 'main', index: 0 }]] } });

/**
 * Webhook → export (Return All).
 * @param {'json' | 'csv'} format @param {{ id: string, name: string }} credential
 * @param {{ pageSize?: number, concurrency?: number, path?: string }} [options]
 * @returns {any}
 */
function exportWorkflow(format, credential, { pageSize = 1000, concurrency, path: hookPath } = {}) {
	const hook = webhookNode(hookPath || `evg-${format}-${crypto.randomBytes(4).toString('hex')}`);
	return {
		name: `queue: ${format} export (${hook.parameters.path})`,
		nodes: [
			hook,
			{
				id: crypto.randomUUID(),
				name: EXPORT,
				type: L.NODE_TYPE,
				typeVersion: 1,
				position: [240, 0],
				parameters: { datasetId: 'engage', format, returnAll: true, pageSize, options: concurrency ? { concurrency } : {} },
				credentials: { evergageApi: credential },
			},
		],
		connections: link('Webhook', EXPORT),
		settings: { executionOrder: 'v1' },
	};
}

/** Webhook → CSV export → Extract From File (CSV). */
function csvWorkflow(credential) {
	const wf = exportWorkflow('csv', credential);
	wf.nodes.push({
		id: crypto.randomUUID(),
		name: EXTRACT,
		type: 'n8n-nodes-base.extractFromFile',
		typeVersion: 1,
		position: [480, 0],
		parameters: { operation: 'csv', binaryPropertyName: 'data', options: {} },
	});
	Object.assign(wf.connections, link(EXPORT, EXTRACT));
	return wf;
}

/** examples/export-in-batches.json with its Manual Trigger swapped for a Webhook, a credential and a batch size. */
function batchExample(credential, batchSize) {
	const wf = JSON.parse(fs.readFileSync(path.join(L.ROOT, 'examples', 'export-in-batches.json'), 'utf8'));
	const manual = wf.nodes.find((n) => n.type === 'n8n-nodes-base.manualTrigger');
	const hook = webhookNode(`evg-batches-${crypto.randomBytes(4).toString('hex')}`);
	Object.assign(manual, { type: hook.type, typeVersion: hook.typeVersion, webhookId: hook.webhookId, parameters: hook.parameters });
	for (const n of wf.nodes) {
		if (n.type === L.NODE_TYPE) n.credentials = { evergageApi: credential };
		for (const a of (n.parameters.assignments && n.parameters.assignments.assignments) || []) {
			if (a.name === 'batchSize' && /\?\? \d+/.test(a.value)) a.value = a.value.replace(/\?\? \d+/, `?? ${batchSize}`);
		}
	}
	return wf;
}

const SEND = 'Send events';

/** Webhook → Code (`count` CRM-like rows) → Evergage Event → Send: one event batch. */
function eventBatchWorkflow(credential, count) {
	const hook = webhookNode(`evg-events-${crypto.randomBytes(4).toString('hex')}`);
	return {
		name: `queue: ${count} events (${hook.parameters.path})`,
		nodes: [
			hook,
			{
				id: crypto.randomUUID(),
				name: 'CRM rows',
				type: 'n8n-nodes-base.code',
				typeVersion: 2,
				position: [240, 0],
				parameters: { jsCode: `return Array.from({ length: ${count} }, (_, i) => ({ json: { id: 'queue-' + i, tier: i % 2 ? 'gold' : 'silver' } }));` },
			},
			{
				id: crypto.randomUUID(),
				name: SEND,
				type: `${L.PACKAGE_NAME}.evergage`,
				typeVersion: 1,
				position: [480, 0],
				parameters: {
					resource: 'event', operation: 'send', datasetId: 'engage', action: 'Queue Sync', identifyBy: 'userId',
					userId: '={{ $json.id }}', attributeInput: 'fields',
					userAttributes: { attribute: [{ name: 'tier', value: '={{ $json.tier }}' }] }, options: {},
				},
				credentials: { evergageApi: credential },
			},
		],
		connections: { ...link('Webhook', 'CRM rows'), ...link('CRM rows', SEND) },
		settings: { executionOrder: 'v1' },
	};
}

module.exports = { EXPORT, EXTRACT, BATCH_NODE, SEND, exportWorkflow, csvWorkflow, batchExample, eventBatchWorkflow, webhookNode };
