// n8n's own community-node rules (cloud rules on): what n8n's verification scanner checks.
import { config } from '@n8n/node-cli/eslint';

export default config;
