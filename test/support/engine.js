// @ts-check
/**
 * Runs nodes inside n8n-core's own execution engine (WorkflowExecute), as n8n does, with a
 * credentials helper that applies a credential's generic `authenticate` block the way n8n's
 * CredentialsHelper does (expressions resolved against `$credentials`). Shared by the jest suites,
 * the demo and the benchmark; node classes come from the caller (TypeScript source under jest,
 * dist/ elsewhere).
 */
const fs = require('fs');
const os = require('os');
const path = require('path');

// n8n-core reads its folders at load time: give it a private, throwaway one unless told otherwise.
// (jest makes one per run: test/support/jest-setup.js.)
if (!process.env.N8N_USER_FOLDER) {
	const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'evergage-n8n-'));
	process.env.N8N_USER_FOLDER = folder;
	process.once('exit', () => fs.rmSync(folder, { recursive: true, force: true }));
}
process.env.N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS ??= 'false';
process.env.N8N_ENCRYPTION_KEY ??= 'evergage-engine-tests';
process.env.N8N_DIAGNOSTICS_ENABLED ??= 'false';

// The DI container n8n-core itself registers its services in (it may ship its own copy).
const { Container } = require(require.resolve('@n8n/di', { paths: [require.resolve('n8n-core')] }));
const { BinaryDataService, ExecutionLifecycleHooks, PollContext, PollTriggerExecutor, WorkflowExecute } = require('n8n-core');
const { ICredentialsHelper, Workflow } = require('n8n-workflow');

const PACKAGE = 'n8n-nodes-evergage';

class TestCredentialsHelper extends ICredentialsHelper {
	/** @param {Record<string, any>} credentialTypes @param {Record<string, any>} credentialData */
	constructor(credentialTypes, credentialData) {
		super();
		this.credentialTypes = credentialTypes;
		this.credentialData = credentialData;
	}

	getParentTypes() {
		return [];
	}

	isCredentialUsableByNode() {
		return true;
	}

	/** As n8n's CredentialsHelper.authenticate: each generic property resolved and set on the request. */
	async authenticate(credentials, typeName, requestOptions, workflow, node) {
		const authenticate = this.credentialTypes[typeName]?.authenticate;
		if (typeof authenticate === 'function') return await authenticate(credentials, requestOptions);
		if (authenticate?.type === 'generic') {
			requestOptions.headers ??= {};
			for (const [outerKey, outerValue] of Object.entries(authenticate.properties)) {
				for (const [key, value] of Object.entries(outerValue)) {
					const keyResolved = this.resolve(key, credentials, workflow, node);
					requestOptions[outerKey] ??= {};
					requestOptions[outerKey][keyResolved] = this.resolve(value, credentials, workflow, node);
				}
			}
		}
		return requestOptions;
	}

	resolve(value, credentials, workflow, node) {
		if (typeof value !== 'string' || !value.startsWith('=')) return value;
		const resolved = workflow.expression.getSimpleParameterValue(
			node,
			value,
			'internal',
			{ $credentials: credentials },
			undefined,
			'',
		);
		return resolved ? String(resolved) : '';
	}

	async preAuthentication() {
		return undefined;
	}

	async runPreAuthentication() {
		return undefined;
	}

	/** @returns {Promise<any>} */
	async getCredentials() {
		throw new Error('not used by these nodes');
	}

	/** The stored data with the credential type's defaults filled in, as n8n hands it to a node. */
	async getDecrypted(_additionalData, _nodeCredentials, type) {
		const data = this.credentialData[type];
		if (data === undefined) throw new Error(`No test credentials of type ${type}`);
		const withDefaults = {};
		for (const property of this.credentialTypes[type]?.properties ?? []) {
			withDefaults[property.name] = property.default;
		}
		return { ...withDefaults, ...data };
	}

	async updateCredentials() {}

	async updateCredentialsOauthTokenData() {}

	getCredentialsProperties(type) {
		return this.credentialTypes[type]?.properties ?? [];
	}
}

let binaryDataReady;
/** n8n 2.x keeps binary data on disk (no in-memory mode); the engine needs the service set up. */
async function binaryDataService() {
	binaryDataReady ??= Container.get(BinaryDataService).init();
	await binaryDataReady;
	return Container.get(BinaryDataService);
}

/**
 * An engine for the given node and credential types: instances keyed by full type name
 * (`n8n-nodes-base.httpRequest`), and/or this package's classes (typed `n8n-nodes-evergage.<name>`).
 * @param {{ nodeClasses?: Array<new () => any>, credentialClasses?: Array<new () => any>,
 *   nodeTypes?: Record<string, any>, credentialTypes?: Record<string, any> }} types
 */
function createEngine({ nodeClasses = [], credentialClasses = [], nodeTypes: extraNodeTypes = {}, credentialTypes: extraCredentialTypes = {} }) {
	const nodeTypesByName = { ...extraNodeTypes };
	for (const NodeClass of nodeClasses) {
		const nodeType = new NodeClass();
		nodeTypesByName[`${PACKAGE}.${nodeType.description.name}`] = nodeType;
	}
	const credentialTypes = { ...extraCredentialTypes };
	for (const CredentialClass of credentialClasses) {
		const credentialType = new CredentialClass();
		credentialTypes[credentialType.name] = credentialType;
	}
	const nodeTypes = {
		getByName: (type) => nodeTypesByName[type],
		// A versioned node type (as n8n-nodes-base's HTTP Request) hands out the class of each version.
		getByNameAndVersion: (type, version) => {
			const nodeType = nodeTypesByName[type];
			return typeof nodeType?.getNodeType === 'function' ? nodeType.getNodeType(version) : nodeType;
		},
		getKnownTypes: () => ({}),
	};

	/** What n8n hands a node's context besides the workflow: credentials, base URLs, hooks. */
	function additionalDataFor(credentials, hooks) {
		return {
			executionId: 'execution-1',
			credentialsHelper: new TestCredentialsHelper(credentialTypes, credentials),
			hooks,
			restApiUrl: 'http://127.0.0.1:5678/rest',
			instanceBaseUrl: 'http://127.0.0.1:5678',
			formWaitingBaseUrl: 'http://127.0.0.1:5678/form-waiting',
			webhookBaseUrl: 'http://127.0.0.1:5678/webhook',
			webhookWaitingBaseUrl: 'http://127.0.0.1:5678/webhook-waiting',
			webhookTestBaseUrl: 'http://127.0.0.1:5678/webhook-test',
			variables: {},
			currentNodeParameters: undefined,
			userId: 'user-1',
			// Engine callbacks with no use here (UI pushes, status updates).
			setExecutionStatus: () => {},
			sendDataToUI: () => {},
		};
	}

	/**
	 * Runs `nodes` connected in a chain, in the order given; the first gets `input` items.
	 * @param {{
	 *   nodes: Array<{ name: string, type: string, typeVersion: number, parameters: Record<string, unknown>,
	 *     credentials?: Record<string, string>, continueOnFail?: boolean }>,
	 *   credentials: Record<string, Record<string, unknown>>,
	 *   input?: Array<{ json: Record<string, unknown> }>, timezone?: string,
	 *   onStart?: (cancel: () => void) => void, connections?: Record<string, unknown>,
	 * }} options
	 *   connections: n8n's own connections object instead of the chain (a loop, a branch).
	 */
	async function runChain(options) {
		const binaryData = await binaryDataService();
		const nodes = options.nodes.map((node, index) => ({
			id: `node-${index}`,
			name: node.name,
			type: node.type,
			typeVersion: node.typeVersion,
			position: [index * 200, 0],
			parameters: node.parameters,
			credentials: Object.fromEntries(
				Object.entries(node.credentials ?? {}).map(([type, name]) => [type, { id: `${type}-1`, name }]),
			),
			...(node.continueOnFail ? { onError: 'continueRegularOutput' } : {}),
		}));
		const connections = {};
		for (let index = 0; index + 1 < nodes.length; index++) {
			connections[nodes[index].name] = { main: [[{ node: nodes[index + 1].name, type: 'main', index: 0 }]] };
		}
		const workflowData = { id: 'engine-test', name: 'engine test', nodes, connections: options.connections ?? connections, active: false };
		// The engine's parameter types are wider than what a run needs: these doubles hold what it reads.
		const workflow = new Workflow(/** @type {any} */ ({ ...workflowData, nodeTypes, settings: { timezone: options.timezone ?? 'UTC' } }));
		const hooks = new ExecutionLifecycleHooks('manual', 'execution-1', /** @type {any} */ ({
			...workflowData,
			activeVersionId: null,
			isArchived: false,
			createdAt: new Date(),
			updatedAt: new Date(),
		}));
		let finish;
		const finished = new Promise((resolve) => (finish = resolve));
		hooks.addHandler('workflowExecuteAfter', (run) => finish(run));
		const additionalData = additionalDataFor(options.credentials, hooks);
		const runExecutionData = {
			startData: {},
			resultData: { runData: {} },
			executionData: {
				contextData: {},
				metadata: {},
				nodeExecutionStack: [{ node: nodes[0], data: { main: [options.input ?? [{ json: {} }]] }, source: null }],
				waitingExecution: {},
				waitingExecutionSource: {},
			},
		};
		const workflowExecute = new WorkflowExecute(/** @type {any} */ (additionalData), 'manual', /** @type {any} */ (runExecutionData));
		const execution = workflowExecute.processRunExecutionData(workflow);
		options.onStart?.(() => execution.cancel());
		await execution.catch(() => undefined);
		const run = await finished;
		const taskData = run.data.resultData.runData[nodes[nodes.length - 1].name]?.[0];
		return {
			run,
			status: run.status,
			/** The error the run stopped with (the node's error, as n8n stores it), if any. */
			error: run.data.resultData.error,
			/** The last node's output items. */
			items: taskData?.data?.main?.[0] ?? [],
			binaryData,
			/** @param {import('n8n-workflow').IBinaryData} binary */
			readBinary: async (binary) => await binaryData.getAsBuffer(binary),
		};
	}

	/**
	 * Runs one node of `type` with `parameters` on `input` items, with credentials of each given type.
	 * @param {{
	 *   type: string, parameters: Record<string, unknown>, credentials: Record<string, Record<string, unknown>>,
	 *   input?: Array<{ json: Record<string, unknown> }>, continueOnFail?: boolean, timezone?: string,
	 *   onStart?: (cancel: () => void) => void, typeVersion?: number,
	 * }} options
	 */
	async function runNode({ type, parameters, continueOnFail, typeVersion = 1, ...rest }) {
		const credentials = Object.fromEntries(Object.keys(rest.credentials).map((credentialType) => [credentialType, 'Test']));
		return await runChain({ ...rest, nodes: [{ name: 'Export', type, typeVersion, parameters, credentials, continueOnFail }] });
	}

	let pollers = 0;
	/**
	 * A poll trigger as n8n runs it: each `poll()` is one tick of n8n-core's own PollTriggerExecutor
	 * with a real PollContext over one long-lived workflow, whose static data stays in memory between
	 * polls. What the tick emits is `items`; an error the tick hands to n8n (which n8n turns into an
	 * error execution) is `error`. What n8n would have stored is `saved`: after a poll that emits
	 * (static data), or after every successful poll with `durable` (n8n's durable poll cursors).
	 * `restart()` goes back to what was stored. "Fetch Test Event" is `poll({ mode: 'manual' })`: n8n
	 * stores nothing then, and its error is thrown to the editor (here: returned as `error`).
	 * `pollBudgetMs` is what n8n 2.x tells a poll it may spend (`getPollBudgetMs`); `beforeCredentials`
	 * runs inside each poll's credential read (a stand-in for an n8n that hangs there).
	 * @param {{ type: string, parameters: Record<string, unknown>, credentials: Record<string, Record<string, unknown>>,
	 *   durable?: boolean, timezone?: string, pollBudgetMs?: number, beforeCredentials?: () => Promise<void>,
	 *   typeVersion?: number }} options
	 */
	function createPoller({ type, parameters, credentials, durable = false, timezone = 'UTC', pollBudgetMs, beforeCredentials, typeVersion = 1 }) {
		/** @type {import('n8n-workflow').INode} */
		const node = {
			id: 'trigger-0',
			name: 'Evergage Trigger',
			type,
			typeVersion,
			position: [0, 0],
			parameters: { pollTimes: { item: [{ mode: 'everyMinute' }] }, ...parameters },
			credentials: Object.fromEntries(Object.keys(credentials).map((t) => [t, { id: `${t}-1`, name: 'Test' }])),
		};
		const copy = (data) => JSON.parse(JSON.stringify(data));
		let saved = {};
		// One workflow per poller, as in n8n: a trigger keeps apart what each workflow's polls do.
		const workflowId = `poll-test-${++pollers}`;
		const open = () =>
			new Workflow({
				id: workflowId,
				name: 'poll test',
				nodes: [node],
				connections: {},
				active: true,
				nodeTypes,
				staticData: copy(saved),
				settings: { timezone },
			});
		let workflow = open();
		const hooks = new ExecutionLifecycleHooks('trigger', 'execution-1', {
			id: workflowId, name: 'poll test', nodes: [node], connections: {}, active: true,
			activeVersionId: null, isArchived: false, createdAt: new Date(), updatedAt: new Date(),
		});
		const nodeState = () => copy(workflow.getStaticData('node', node));
		const additionalData = () => {
			const data = additionalDataFor(credentials, hooks);
			if (beforeCredentials) {
				const helper = data.credentialsHelper;
				const getDecrypted = helper.getDecrypted.bind(helper);
				helper.getDecrypted = async (...args) => {
					await beforeCredentials();
					return await getDecrypted(...args);
				};
			}
			return data;
		};

		/** @param {{ mode?: 'trigger' | 'manual' }} [options] */
		async function poll({ mode = 'trigger' } = {}) {
			/** @type {any[][]} */
			const emitted = [];
			/** @type {Array<Error & { description?: string }>} */
			const errors = [];
			const opened = workflow;
			// As n8n: static data is saved when a poll emits; with durable cursors, also when the tick
			// commits the cursor of a poll that emitted nothing. A poll of a workflow since reopened
			// (a restart) stores nothing.
			const store = () => {
				if (mode !== 'manual' && opened === workflow) saved = copy(opened.staticData);
			};
			const context = new PollContext(
				opened, node, /** @type {any} */ (additionalData()), mode, 'activate',
				(data) => {
					emitted.push(data);
					store();
				},
				(error) => errors.push(error),
				async () => {
					if (durable) store();
				},
				undefined, undefined,
				pollBudgetMs === undefined ? undefined : () => pollBudgetMs,
			);
			const tick = Container.get(PollTriggerExecutor).create(opened, node, context, () => true);
			try {
				// "Fetch Test Event" is a testing tick: n8n throws its error to the editor.
				await tick(mode === 'manual');
			} catch (error) {
				errors.push(error);
			}
			const output = emitted.length > 0 ? emitted[emitted.length - 1] : null;
			return { items: output === null ? null : output[0].map((item) => item.json), error: errors[errors.length - 1] };
		}

		return {
			poll,
			restart: () => (workflow = open()),
			/** Changes the node's parameters, as a user editing the trigger would. */
			setParameters: (changes) => Object.assign(node.parameters, changes),
			/** The node's static data as it is in memory now. */
			state: nodeState,
			/** The node's static data as n8n would have stored it. */
			saved: () => copy(saved[`node:${node.name}`] ?? {}),
		};
	}

	return { runNode, runChain, createPoller, credentialTypes, nodeTypes };
}

module.exports = { createEngine, TestCredentialsHelper, PACKAGE };
