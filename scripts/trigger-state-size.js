// Bytes the trigger's saved state takes per record, by name length, at 200,000 records (run after npm run build).
'use strict';
const { snapshotOf, saveSnapshot, savedSize, boundSnapshot } = require('../dist/nodes/shared/changes');
for (const length of [12, 40, 100, 250]) {
  const records = Array.from({ length: 200_000 }, (_, i) => ({ name: `${String(i).padStart(6, '0')}`.padEnd(length, 'x'), engagementScore: 0.5, lastActivity: 1.7e12 }));
  const saved = saveSnapshot(snapshotOf(records), JSON.stringify(['accounts', 'engage', 'High Value Accounts', null, null]));
  const bytes = savedSize(saved);
  const fit = boundSnapshot(snapshotOf(records), saved.scope);
  console.log(`names of ${length} chars: ${(bytes / 200_000).toFixed(1)} bytes per record, ${(bytes / 1048576).toFixed(1)} MiB for 200,000; within 8 MiB: ${fit.fits} (estimate ${(fit.bytes / 1048576).toFixed(2)} MiB); at most ${Math.floor((8 * 1048576 - 300) / (fit.bytes / 200_000)).toLocaleString('en-US')} records within the bound (its room for a held drop included)`);
}
