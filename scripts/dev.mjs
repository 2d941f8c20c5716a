// `npm start`: the relay and its upstream simulator, locally and offline, migrations applied.
import { ensureDevVars, QUIET_DEV_ENV, startStack } from "./local-stack.mjs";

const relayPort = Number(process.env.PORT ?? 8787);
const simPort = Number(process.env.SIM_PORT ?? 8788);
const verbose = process.argv.includes("--verbose");

ensureDevVars();
console.log("Starting the upstream simulator and the relay (first start takes a few seconds)…");
const stack = await startStack({
  relayPort,
  simPort,
  // Quiet unless asked: wrangler's per-request logging and inspector proxy cost more CPU
  // than the relay itself under load (BENCHMARKS.md, live load).
  ...(verbose ? {} : { env: QUIET_DEV_ENV }),
  log: verbose ? (line) => console.log(line) : (line) => (/error/i.test(line) && !/cloudflare\.com|fetch failed|metrics/i.test(line) ? console.error(line) : undefined),
});

const key = "sk-local-demo";
console.log(`
  Relay:      ${stack.relayUrl}   (API docs: ${stack.relayUrl}/docs, OpenAPI: ${stack.relayUrl}/openapi.json)
  Simulator:  ${stack.simUrl}   (webhook receivers: ${stack.simUrl}/hooks)

  Any API key works against the simulator (keys containing "invalid" get 401). Try:

  curl ${stack.relayUrl}/v1/chat/completions \\
    -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' \\
    -d '{"model":"qwen3-max","messages":[{"role":"user","content":"Hello!"}]}'

  curl ${stack.relayUrl}/v1/videos \\
    -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' \\
    -d '{"model":"viduq3-pro","prompt":"a cat chasing a mouse","duration":5,"webhook":"${stack.simUrl}/hooks/demo"}'

  then: curl -H 'Authorization: Bearer ${key}' -H 'Prefer: wait=30' ${stack.relayUrl}/v1/tasks/<id>
  and see the signed webhook arrive: curl ${stack.simUrl}/hooks/demo

  Ctrl-C stops both.
`);

const shutdown = async () => {
  await stack.stop();
  process.exit(0);
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
