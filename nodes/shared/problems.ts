import { IncompleteBodyError } from './body';
import type { Redactor } from './secrets';

/** What went wrong with a request, in words a user can act on: network errors and refusals. */

export interface NetworkProblem {
	message: string;
	description: string;
	/** No retry can mend it (an unknown host, a refused certificate). */
	permanent: boolean;
	/** The connection was refused: the request never left, so even a write may be sent again. */
	refused?: boolean;
	/** For a write that may have arrived: what happened, in words without an error code. */
	unsure: string;
}

/** A network failure (or an unreadable body) as a problem, or undefined when it is not one. */
export function networkProblem(
	error: unknown,
	where: { origin: string; timeoutMs: number; redactor: Redactor },
): NetworkProblem | undefined {
	const { origin, redactor } = where;
	if (error instanceof IncompleteBodyError) {
		return {
			message: 'sent an incomplete or unreadable response',
			description: `Last response: ${redactor.serviceText(error.message, 200)}. `,
			permanent: false,
			unsure: 'its answer was cut off',
		};
	}
	const cause = findCause(error);
	const code = cause.code ?? '';
	const host = origin.replace(/^https?:\/\//, '');
	if (code === 'ENOTFOUND' || code === 'EAI_NONAME') {
		return {
			message: `Cannot find the host ${host}`,
			description:
				'Check the Account Name and Instance in the credential (from the Gears URL, e.g. https://demo.us-1.evergage.com/), or its Base URL.',
			permanent: true,
			unsure: '',
		};
	}
	if (code === 'CERT_HAS_EXPIRED' || code.startsWith('ERR_TLS') || code.includes('CERT')) {
		return {
			message: `The TLS certificate of ${host} was refused`,
			description: `${code}: check the credential's Base URL, or the proxy between n8n and Evergage.`,
			permanent: true,
			unsure: '',
		};
	}
	const transient = [
		'ECONNRESET',
		'ECONNREFUSED',
		'ECONNABORTED',
		'ETIMEDOUT',
		'ESOCKETTIMEDOUT',
		'EPIPE',
		'EAI_AGAIN',
		'ERR_BAD_RESPONSE',
		'ERR_STREAM_PREMATURE_CLOSE',
		'UND_ERR_SOCKET',
		'Z_DATA_ERROR',
		'Z_BUF_ERROR',
	];
	const text = String(cause.message ?? '');
	if (transient.includes(code) || /socket hang up|aborted|timeout|premature/i.test(text)) {
		const timedOut = code === 'ETIMEDOUT' || /timeout|timed out/i.test(`${code} ${text}`);
		const refused = code === 'ECONNREFUSED';
		return {
			message: timedOut
				? `did not answer within ${where.timeoutMs} ms`
				: refused
					? 'refused the connection'
					: 'dropped the connection',
			description: `Last error: ${redactor.serviceText(code || text, 100)}. ${refused ? 'Nothing was sent. ' : ''}`,
			permanent: false,
			refused,
			// n8n rewrites a message that holds an error code: the code stays in the description.
			unsure: timedOut ? `no answer came within ${where.timeoutMs} ms` : 'the connection dropped',
		};
	}
	return undefined;
}

export function errorText(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

function findCause(error: unknown): { code?: string; message?: string } {
	let current = error as { code?: string; message?: string; cause?: unknown } | undefined;
	for (let depth = 0; current && depth < 5; depth++) {
		if (typeof current.code === 'string' && current.code !== '') return current;
		current = current.cause as typeof current;
	}
	return (error as { message?: string }) ?? {};
}

export function statusMessage(
	status: number,
	headers: Record<string, string | string[] | undefined>,
	bodyText: string,
	notFound: string,
	redactor: Redactor,
): [string, string] {
	if (status >= 300 && status < 400) {
		const location = Array.isArray(headers.location) ? headers.location[0] : headers.location;
		const target = location ? redactor.serviceText(String(location), 200) : 'nowhere';
		return [
			`Evergage answered with a redirect (${status}), which is not followed`,
			`It points to ${target}; the key pair is only sent to the host of the credential. Check its Account Name, Instance and Base URL.`,
		];
	}
	switch (status) {
		case 401:
			return [
				'Evergage refused the API key pair (401)',
				'Check the API Key ID and API Secret Key in the credential: they must be the pair of one API token.',
			];
		case 403:
			return [
				'The API token may not read this data (403)',
				'The token lacks "Can access API", may not read this dataset, or this IP is not on its accept list. An admin can change it in Security > API Tokens.',
			];
		case 404:
			return [
				notFound,
				'Check the Dataset ID: the name or identifier of the dataset in Personalization.',
			];
		default: {
			const said = redactor.serviceText(bodyText, 300);
			return [
				`Evergage rejected the request (${status})`,
				said === '' ? "Check the node's fields." : `It said: ${said}`,
			];
		}
	}
}
