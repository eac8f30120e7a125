/*
 * Drives the chart's tools for test/deploy/helm.test.ts: the pinned Helm (built once by
 * scripts/tools/helm.sh) and the offline manifest validator (deploy/helm/validate, built by
 * scripts/tools/k8s-validate.sh), and reads rendered manifests back as objects.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../../ext-proc/src/config/paths.js';

export const root = repoRoot();
export const chartDir = path.join(root, 'deploy', 'helm', 'llm-gateway');

/** A rendered object, as loosely typed as YAML: tests narrow what they read. */
export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
};

/** Runs one of scripts/tools/*.sh, which print the tool's path; the first Helm build takes minutes. */
export function tool(script: 'helm.sh' | 'k8s-validate.sh'): string {
  return execFileSync('bash', [path.join(root, 'scripts', 'tools', script)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 30 * 60_000,
  }).trim();
}

export interface Rendered {
  text: string;
  docs: Manifest[];
}

export class Chart {
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), 'helm-values-'));
  private n = 0;

  constructor(
    private readonly helm: string,
    private readonly validator: string,
  ) {}

  /** Values as a file Helm reads (JSON is YAML). */
  private valuesFile(values: object): string {
    const file = path.join(this.dir, `values-${++this.n}.json`);
    writeFileSync(file, JSON.stringify(values));
    return file;
  }

  private run(args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(this.helm, args, {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, HELM_CACHE_HOME: this.dir, HELM_CONFIG_HOME: this.dir, HELM_DATA_HOME: this.dir },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** `helm template`: the manifests, or a thrown error carrying Helm's message. */
  template(values: object, o: { release?: string; namespace?: string } = {}): Rendered {
    const r = this.tryTemplate(values, o);
    if (r.status !== 0) throw new Error(`helm template failed:\n${r.stderr}`);
    const docs = parseAllDocuments(r.stdout)
      .map((d) => d.toJS() as Manifest | null)
      .filter((d): d is Manifest => d !== null);
    return { text: r.stdout, docs };
  }

  tryTemplate(values: object, o: { release?: string; namespace?: string } = {}) {
    return this.run(['template', o.release ?? 'llm-gateway', chartDir, '--namespace', o.namespace ?? 'llm-gateway', '--values', this.valuesFile(values)]);
  }

  /**
   * NOTES.txt as `helm install` would print it. Helm renders it only for an install, which needs
   * a cluster even in a dry run; so a copy of the chart carries its text as a named template and
   * a ConfigMap that `helm template` renders.
   */
  notes(values: object): string {
    const copy = path.join(this.dir, `chart-${++this.n}`);
    cpSync(chartDir, copy, { recursive: true });
    const text = readFileSync(path.join(chartDir, 'templates', 'NOTES.txt'), 'utf8');
    writeFileSync(path.join(copy, 'templates', '_notes-under-test.tpl'), `{{- define "notes-under-test" -}}\n${text}{{- end -}}\n`);
    writeFileSync(
      path.join(copy, 'templates', 'notes-under-test.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-under-test\ndata:\n  notes: {{ include "notes-under-test" . | toJson }}\n',
    );
    const r = this.run([
      'template',
      'llm-gateway',
      copy,
      '--namespace',
      'llm-gateway',
      '--show-only',
      'templates/notes-under-test.yaml',
      '--values',
      this.valuesFile(values),
    ]);
    if (r.status !== 0) throw new Error(`rendering NOTES.txt failed:\n${r.stderr}`);
    const doc = parseAllDocuments(r.stdout)[0]?.toJS() as Manifest;
    return doc.data?.notes ?? '';
  }

  lint(values: object) {
    return this.run(['lint', chartDir, '--strict', '--namespace', 'llm-gateway', '--values', this.valuesFile(values)]);
  }

  /** The validator's verdict on manifests (its JSON report). */
  validate(text: string): ValidationReport {
    const r = spawnSync(this.validator, ['-json'], { input: text, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0 && r.status !== 1) throw new Error(`validator failed to run (${r.status}):\n${r.stderr}`);
    return { ...(JSON.parse(r.stdout) as Omit<ValidationReport, 'exitCode'>), exitCode: r.status };
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface ValidationReport {
  documents: { source: string; apiVersion: string; kind: string; name: string; errors?: string[] }[];
  errors: number;
  exitCode: number;
}

/** The one object of a kind (and name, when several). */
export function one(docs: Manifest[], kind: string, name?: string): Manifest {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

/** Whether matchLabels select an object carrying these labels. */
export function selects(matchLabels: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!matchLabels || Object.keys(matchLabels).length === 0) return false;
  return Object.entries(matchLabels).every(([k, v]) => labels?.[k] === v);
}
