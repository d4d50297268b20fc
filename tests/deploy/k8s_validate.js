// Validates every *.yaml under deploy/kubernetes/ offline: each document
// against its kind's schema (the npm kubernetes-models packages' validate()),
// then what the schemas cannot see: one replica; probes on /readyz and
// /healthz with timeouts under their period; ports, labels and mounts that
// refer to each other; and the ConfigMap's nsmd.yaml passes `nsmd check`,
// listens on the container port, keeps its state on the volume, and holds
// config/examples/saas.yaml's metrics.
//
// Usage: node k8s_validate.js SOURCE_DIR NSMD_BINARY
// (NODE_PATH: the node_modules that tests/deploy/k8s/package.json installs.)
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { execFileSync } = require("child_process");
const YAML = require("yaml");

const [src, nsmd] = process.argv.slice(2);
const dir = path.join(src, "deploy/kubernetes");
let failures = 0;
function fail(where, message) {
  failures++;
  console.log(`FAIL ${where}: ${message}`);
}

// The model class of apiVersion/kind, from kubernetes-models (built-in
// kinds) or @kubernetes-models/prometheus-operator (monitoring.coreos.com).
function modelOf(apiVersion, kind) {
  for (const pkg of ["kubernetes-models", "@kubernetes-models/prometheus-operator"]) {
    try {
      const model = require(`${pkg}/${apiVersion}`)[kind];
      if (model) return model;
    } catch (e) {
      if (e.code !== "MODULE_NOT_FOUND" && e.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw e;
    }
  }
  return null;
}

function yamlFiles(d) {
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(d, e.name);
    if (e.isDirectory()) return yamlFiles(p);
    return e.name.endsWith(".yaml") || e.name.endsWith(".yml") ? [p] : [];
  });
}

const objects = [];
const files = yamlFiles(dir);
if (files.length === 0) fail(dir, "no *.yaml");
for (const file of files) {
  const where = path.relative(src, file);
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))) {
    if (doc.errors.length) {
      fail(where, doc.errors.map((e) => e.message).join("; "));
      continue;
    }
    const object = doc.toJSON();
    if (object === null) continue;  // an empty document
    const Model = modelOf(object.apiVersion, object.kind);
    if (!Model) {
      fail(where, `unknown apiVersion/kind ${object.apiVersion}/${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (e) {
      fail(`${where} ${object.kind}/${object.metadata && object.metadata.name}`, e.message);
      continue;
    }
    objects.push({ where, object });
  }
}
console.log(`${objects.length} objects in ${files.length} files valid against their schemas`);

function only(kind) {
  const found = objects.filter((o) => o.object.kind === kind);
  if (found.length !== 1) fail(dir, `expected one ${kind}, found ${found.length}`);
  return found[0] && found[0].object;
}
function matches(selector, labels) {
  return Object.entries(selector || {}).every(([k, v]) => labels[k] === v);
}

// Other objects (e.g. a ConfigMap with a dashboard) may sit beside these:
// the Service and ConfigMap checked are the ones the StatefulSet names.
function named(kind, name) {
  const found = objects.find((o) => o.object.kind === kind && o.object.metadata.name === name);
  if (!found) fail(dir, `no ${kind} named ${name}`);
  return found && found.object;
}
const sts = only("StatefulSet");
const podMonitor = only("PodMonitor");
const service = sts && named("Service", sts.spec.serviceName);
const configVolume = sts && (sts.spec.template.spec.volumes || []).find((v) => v.configMap);
const configMap = configVolume && named("ConfigMap", configVolume.configMap.name);
if (sts) {
  const where = `StatefulSet/${sts.metadata.name}`;
  if (!(sts.spec.replicas >= 1)) fail(where, `replicas ${sts.spec.replicas}, must be at least 1`);
  const pod = sts.spec.template;
  const labels = pod.metadata.labels || {};
  if (!matches(sts.spec.selector.matchLabels, labels)) fail(where, "selector misses its pods");
  const podSecurity = pod.spec.securityContext || {};
  if (podSecurity.runAsNonRoot !== true || !(podSecurity.runAsUser > 0)) {
    fail(where, "pods must run as a non-root user (runAsNonRoot, runAsUser > 0)");
  }
  const c = pod.spec.containers[0];
  const ports = Object.fromEntries((c.ports || []).map((p) => [p.name, p.containerPort]));
  for (const [probe, want] of [["readinessProbe", "/readyz"], ["livenessProbe", "/healthz"]]) {
    const p = c[probe];
    if (!p || !p.httpGet) {
      fail(where, `${probe} missing`);
      continue;
    }
    if (p.httpGet.path !== want) fail(where, `${probe} asks ${p.httpGet.path}, not ${want}`);
    if (!(p.httpGet.port in ports)) fail(where, `${probe} port ${p.httpGet.port} is not a named port`);
    if (!(p.timeoutSeconds >= 1 && p.periodSeconds > p.timeoutSeconds)) {
      fail(where, `${probe}: timeoutSeconds must be set and below periodSeconds`);
    }
  }
  const mounts = Object.fromEntries((c.volumeMounts || []).map((m) => [m.name, m.mountPath]));
  const claims = (sts.spec.volumeClaimTemplates || []).map((t) => t.metadata.name);
  const stateMount = claims.map((n) => mounts[n]).find((m) => m);
  if (!stateMount) fail(where, "no volumeClaimTemplate is mounted");
  const args = c.args || [];
  const configPath = args[args.indexOf("--config") + 1];
  if (!configPath || !configVolume || mounts[configVolume.name] !== path.dirname(configPath)) {
    fail(where, `--config ${configPath} is not in the mounted ConfigMap`);
  } else if (configMap) {
    const text = (configMap.data || {})[path.basename(configPath)];
    if (text === undefined) {
      fail(where, `ConfigMap has no key ${path.basename(configPath)}`);
    } else {
      checkConfig(text, ports, stateMount);
    }
  }
  if (service) {
    const w = `Service/${service.metadata.name}`;
    if (service.spec.clusterIP !== "None") fail(w, "a StatefulSet's governing Service is headless");
    if (!matches(service.spec.selector, labels)) fail(w, "selector misses the pods");
    for (const p of service.spec.ports) {
      if (!(p.targetPort in ports)) fail(w, `targetPort ${p.targetPort} is not a container port`);
    }
  }
  if (podMonitor) {
    const w = `PodMonitor/${podMonitor.metadata.name}`;
    if (!matches(podMonitor.spec.selector.matchLabels, labels)) fail(w, "selector misses the pods");
    for (const e of podMonitor.spec.podMetricsEndpoints) {
      if (!(e.port in ports)) fail(w, `port ${e.port} is not a container port`);
      if ((e.path || "/metrics") !== "/metrics") fail(w, `path ${e.path}`);
    }
  }
}

// The ConfigMap's nsmd.yaml: valid for nsmd, its port and state dir the
// pod's, its metrics config/examples/saas.yaml's.
function checkConfig(text, ports, stateMount) {
  const where = `ConfigMap/${configMap.metadata.name}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nsmd-k8s-"));
  const file = path.join(tmp, "nsmd.yaml");
  fs.writeFileSync(file, text);
  let checked = "";
  try {
    checked = execFileSync(nsmd, ["check", "--config", file],
                           { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  } catch (e) {
    fail(where, `nsmd check failed:\n${e.stderr}`);
  }
  // Pods that share partitions add up only with one task per partition.
  if (sts.spec.replicas > 1 && !checked.includes("\ntasks: one per partition")) {
    fail(where, `${sts.spec.replicas} replicas, but nsmd check does not say "tasks: one per partition"`);
  }
  fs.rmSync(tmp, { recursive: true });
  const config = YAML.parse(text);
  const port = Number(String(config.http.listen).split(":").pop());
  if (!Object.values(ports).includes(port)) fail(where, `http.listen port ${port} is not a container port`);
  if (config.state.dir !== stateMount) {
    fail(where, `state.dir ${config.state.dir} is not the volume's mount ${stateMount}`);
  }
  const saas = YAML.parse(fs.readFileSync(path.join(src, "config/examples/saas.yaml"), "utf8"));
  if (JSON.stringify(config.metrics) !== JSON.stringify(saas.metrics)) {
    fail(where, "metrics differ from config/examples/saas.yaml's");
  }
}

if (failures) process.exit(1);
console.log("ok");
