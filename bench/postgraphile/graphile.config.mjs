// PostGraphile 5, the peer of the gateway in the benchmark: production-like settings
// (no Ruru/GraphiQL, no explain, no watch), pointed at the gateway's own PostgreSQL.
// BENCH_PG_URL, BENCH_PG_PORT and BENCH_PG_HOST are set by `python -m bench.run`.
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const connectionString =
  process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/sgw_bench";

/** @type {GraphileConfig.Preset} */
export default {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString,
      // bench_peer holds one SQL function: the gateway's "sessions at a location"
      // filter (parking there, or a rental that started or ended there).
      schemas: ["public", "bench_peer"],
      poolConfig: { max: 10 },
    }),
  ],
  grafserv: {
    host: process.env.BENCH_PG_HOST ?? "127.0.0.1",
    port: Number(process.env.BENCH_PG_PORT ?? 8102),
    graphiql: false,
    watch: false,
    websockets: false,
  },
  grafast: { explain: false },
};
