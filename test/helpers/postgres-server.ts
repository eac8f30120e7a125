// The harness lives with the build (`npm run ledger:durability` uses it too); tests import it from here.
export { postgresBinDir, startPostgres, type PostgresServerHandle } from '../../scripts/lib/postgres-server.js';
