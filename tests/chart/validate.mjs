// Validates the objects of one `helm template` output: each against its Kubernetes or
// prometheus-operator schema, the pod hardening the chart promises (nobody runs as root), and
// that no secret value is rendered. Writes the daemon's config (config.yaml) and the rule groups
// of the PrometheusRule (rules.yaml) into OUT_DIR for check-config and promtool.
//   node validate.mjs RENDERED.yaml OUT_DIR     exit 0: valid; 1: every problem on stderr
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(join(process.env.CHART_TOOLS_DIR, "node_modules", "index.js"));
const YAML = require("yaml");

const [renderedPath, outDir] = process.argv.slice(2);
const problems = [];
const problem = (object, message) =>
  problems.push(`${object?.kind ?? "?"}/${object?.metadata?.name ?? "?"}: ${message}`);

// apiVersion "apps/v1" → kubernetes-models/apps/v1/Kind; "v1" → kubernetes-models/v1/Kind.
function modelOf(object) {
  const pkg = object.apiVersion.startsWith("monitoring.coreos.com/")
    ? "@kubernetes-models/prometheus-operator"
    : "kubernetes-models";
  try {
    return require(`${pkg}/${object.apiVersion}/${object.kind}`)[object.kind];
  } catch {
    return undefined;
  }
}

function validateSchema(object) {
  const Model = modelOf(object);
  if (!Model) return problem(object, `no schema for ${object.apiVersion} ${object.kind}`);
  try {
    new Model(object).validate();
  } catch (error) {
    problem(object, `schema: ${error.message}`);
  }
}

// Every container, init containers included, must run as a non-root user with the restricted
// profile, whether a setting comes from the pod or the container.
function checkHardening(object) {
  const pod = object.spec?.template?.spec;
  if (!pod) return;
  const podContext = pod.securityContext ?? {};
  for (const container of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    const context = { ...podContext, ...(container.securityContext ?? {}) };
    const where = `container ${container.name}`;
    if (context.runAsNonRoot !== true) problem(object, `${where}: runAsNonRoot is not true`);
    if (!(context.runAsUser > 0)) problem(object, `${where}: runAsUser is not a non-root uid`);
    if (context.allowPrivilegeEscalation !== false) problem(object, `${where}: privilege escalation allowed`);
    if (context.readOnlyRootFilesystem !== true) problem(object, `${where}: root filesystem writable`);
    if (context.privileged) problem(object, `${where}: privileged`);
    if (!(context.capabilities?.drop ?? []).includes("ALL")) problem(object, `${where}: capabilities not dropped`);
    if (context.seccompProfile?.type !== "RuntimeDefault") problem(object, `${where}: seccomp not RuntimeDefault`);
    for (const variable of container.env ?? []) {
      if ("value" in variable) problem(object, `${where}: env ${variable.name} has an inline value`);
    }
  }
}

// A credential written out: scheme://user:password@, password=..., or an Authorization scheme
// followed by anything but a ${NAME} reference.
const literalSecret = [
  /[a-z][a-z0-9+.-]*:\/\/[^/@:\s]+:(?!\$\{)[^/@\s]+@/i,
  /password\s*=\s*(?!\$\{)\S/i,
  /\b(Bearer|Basic)\s+(?!\$\{)\S/,
];

function checkNoSecretValue(object) {
  if (object.kind === "Secret") problem(object, "the chart must not render Secrets");
  const text = YAML.stringify(object);
  for (const pattern of literalSecret) {
    if (pattern.test(text)) problem(object, `carries a literal secret (${pattern})`);
  }
}

const objects = YAML.parseAllDocuments(readFileSync(renderedPath, "utf8"))
  .map((document) => document.toJS())
  .filter((object) => object);
if (!objects.some((object) => object.kind === "Deployment")) problems.push("no Deployment rendered");
for (const object of objects) {
  validateSchema(object);
  checkHardening(object);
  checkNoSecretValue(object);
  if (object.kind === "ConfigMap" && object.data?.["compensatord.yaml"]) {
    writeFileSync(join(outDir, "config.yaml"), object.data["compensatord.yaml"]);
  }
  if (object.kind === "PrometheusRule") {
    writeFileSync(join(outDir, "rules.yaml"), YAML.stringify({ groups: object.spec.groups }));
  }
}
for (const line of problems) console.error(`validate: ${line}`);
process.exit(problems.length ? 1 : 0);
