/** The package's node and credential, from source, in n8n-core's engine, against a stand-in server. */
import type { INodeExecutionData } from 'n8n-workflow';

import { EvergageApi } from '../../credentials/EvergageApi.credentials';
import { EvergageAccountExport } from '../../nodes/EvergageAccountExport/EvergageAccountExport.node';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createEngine, PACKAGE } = require('./engine');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const standin = require('./standin');

export const engine = createEngine({
	nodeClasses: [EvergageAccountExport],
	credentialClasses: [EvergageApi],
});

export const EXPORT_NODE_TYPE = `${PACKAGE}.evergageAccountExport`;

export const { startStandin, expectedAccounts, DEFAULT_CREDENTIALS, SEGMENTS } = standin;

export interface StandinServer {
	url: string;
	stats: { requests: number; exportRequests: number; byStatus: Record<string, number>; faultsByKind: Record<string, number> };
	requests: Array<{ datasetId?: string; format?: string; query: Record<string, string>; rawUrl: string; status: number }>;
	setFaults(faults: unknown): void;
	resetStats(): void;
	close(): Promise<void>;
}

export function credentialsFor(server: { url: string }, overrides: Record<string, unknown> = {}) {
	return {
		evergageApi: {
			accountName: 'demo',
			instance: 'us-1',
			apiKeyId: DEFAULT_CREDENTIALS.apiKeyId,
			apiSecretKey: DEFAULT_CREDENTIALS.apiSecretKey,
			baseUrl: server.url,
			...overrides,
		},
	};
}

export interface ExportRun {
	status: string;
	error?: { message: string; description?: string; [key: string]: unknown };
	items: INodeExecutionData[];
	readBinary: (binary: unknown) => Promise<Buffer>;
	run: unknown;
}

/** Runs the export node once, on `input` items, with the stand-in's credentials unless told otherwise. */
export async function runExport(
	server: { url: string },
	parameters: Record<string, unknown>,
	options: {
		credentials?: Record<string, Record<string, unknown>>;
		input?: Array<{ json: Record<string, unknown> }>;
		continueOnFail?: boolean;
		timezone?: string;
		onStart?: (cancel: () => void) => void;
	} = {},
): Promise<ExportRun> {
	return await engine.runNode({
		type: EXPORT_NODE_TYPE,
		parameters,
		credentials: options.credentials ?? credentialsFor(server),
		input: options.input,
		continueOnFail: options.continueOnFail,
		timezone: options.timezone,
		onStart: options.onStart,
	});
}
