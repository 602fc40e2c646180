import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

/**
 * Every form the key pair can travel in, and the redaction that keeps them out of anything n8n
 * stores or logs. Texts from the service are redacted before they are normalised or shortened, so a
 * cut can never leave the start of a secret behind.
 */

/** Shortest run of a secret form that is removed wherever it appears. */
export const SECRET_FRAGMENT_CHARS = 8;

/** How much of a text from the service is looked at: the rest is dropped before redaction. */
export const MAX_SERVICE_TEXT_CHARS = 8_192;

const REDACTED = '[redacted]';

export interface Redactor {
	/** The text with every form of the key pair, and every fragment of one, replaced. */
	redact(text: string): string;
	/** Text from the service as it may appear in a message: redacted, whitespace collapsed, shortened. */
	serviceText(text: string, maxChars: number): string;
}

function base64Forms(text: string): string[] {
	const standard = Buffer.from(text, 'utf8').toString('base64');
	return [standard, standard.replace(/=+$/, ''), Buffer.from(text, 'utf8').toString('base64url')];
}

function urlForms(text: string): string[] {
	let encoded: string;
	try {
		encoded = encodeURIComponent(text);
	} catch {
		// Not valid UTF-16 (a lone surrogate): it cannot travel URL-encoded.
		return [];
	}
	// Form encoding (`+` for a space) and lower-case escapes are as common as the strict form.
	const lowerEscapes = encoded.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
	return [encoded, encoded.replace(/%20/g, '+'), lowerEscapes, encodeURI(text)];
}

function whitespaceForms(text: string): string[] {
	return [text.replace(/\s+/g, ' '), text.replace(/\s+/g, ''), text.trim()];
}

/** The secret, the id:secret pair and the Basic token, raw, base64- and URL-encoded. */
export function secretForms(credentials: ICredentialDataDecryptedObject): string[] {
	const keyId = String(credentials.apiKeyId ?? '');
	const secret = String(credentials.apiSecretKey ?? '');
	if (secret === '') return [];
	const pair = `${keyId}:${secret}`;
	const token = Buffer.from(pair, 'utf8').toString('base64');
	const forms = new Set<string>();
	for (const base of [secret, ...whitespaceForms(secret), pair, token, `Basic ${token}`]) {
		for (const form of [base, ...base64Forms(base), ...urlForms(base)]) forms.add(form);
	}
	return [...forms].filter((form) => form.length > 0).sort((a, b) => b.length - a.length);
}

export function redactorFor(credentials: ICredentialDataDecryptedObject): Redactor {
	const forms = secretForms(credentials);
	const keyId = asciiLower(String(credentials.apiKeyId ?? ''));
	// Compared without ASCII case: a service or proxy that lowercases a header keeps the token.
	const fragments = new Set<string>();
	for (const form of forms.map(asciiLower)) {
		for (let i = 0; i + SECRET_FRAGMENT_CHARS <= form.length; i++) {
			const window = form.slice(i, i + SECRET_FRAGMENT_CHARS);
			// The key id alone is not secret: a dataset may share its name.
			if (!keyId.includes(window)) fragments.add(window);
		}
	}
	// Forms shorter than a fragment are only removed whole.
	const shortForms = forms
		.filter((form) => form.length < SECRET_FRAGMENT_CHARS && form.length >= 4)
		.map((form) => new RegExp(form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'));

	const redact = (text: string): string => {
		if (forms.length === 0 || text === '') return text;
		let safe = text;
		for (const form of shortForms) safe = safe.replace(form, REDACTED);
		return fragments.size === 0 ? safe : removeFragments(safe, fragments);
	};
	return {
		redact,
		serviceText(text, maxChars) {
			const clipped = redact(text.slice(0, MAX_SERVICE_TEXT_CHARS));
			// Collapsing whitespace can join a whitespace variant of the secret: redact once more.
			const normalised = redact(clipped.replace(/\s+/g, ' ').trim());
			return normalised.length > maxChars ? `${normalised.slice(0, maxChars - 1)}…` : normalised;
		},
	};
}

/** A-Z to a-z only, so that every position keeps its place. */
function asciiLower(text: string): string {
	return text.replace(/[A-Z]+/g, (run) => run.toLowerCase());
}

/** Marks every position covered by a known fragment, then replaces each covered run once. */
function removeFragments(text: string, fragments: Set<string>): string {
	const size = SECRET_FRAGMENT_CHARS;
	const folded = asciiLower(text);
	let covered = -1;
	const runs: Array<[number, number]> = [];
	for (let i = 0; i + size <= text.length; i++) {
		if (!fragments.has(folded.slice(i, i + size))) continue;
		const last = runs[runs.length - 1];
		if (last !== undefined && i <= covered) last[1] = i + size;
		else runs.push([i, i + size]);
		covered = i + size;
	}
	if (runs.length === 0) return text;
	let out = '';
	let from = 0;
	for (const [start, end] of runs) {
		out += text.slice(from, start) + REDACTED;
		from = end;
	}
	return out + text.slice(from);
}
