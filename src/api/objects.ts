// The objects that cross layers: manifest files in, admitted objects and errors out, and objects as
// the Kubernetes API returns them. Types only (and one limit); admission (state/admit.ts) fills them.
import type { AnyResource, ObjectMeta } from './kinds.ts';

export interface ManifestFile {
  /** Path as the user should see it in messages. */
  path: string;
  text: string;
  /** Size of the file in bytes, when it was too large to read (then `text` is empty). */
  size?: number;
  /**
   * The file's identity as a reader found it (inode, size, modification and change times): the same
   * stamp, the same text. Admission's cache then compares stamps, and never asks for the text of a
   * file it knows (a reader's `text` of such a file is read only when asked for).
   */
  stamp?: string;
}

/**
 * The largest manifest file admission reads, in bytes (1 MiB, about 4,000 networks). Larger files are
 * refused whole, unparsed: reading YAML costs far more memory than the text itself. Split them.
 */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/** Where an object was declared. */
export interface SourceRef {
  file: string;
  /** 0-based index of the YAML document in the file. */
  documentIndex: number;
  /** 1-based line where the document starts. */
  line: number;
}

export interface AdmissionError {
  file: string;
  /** 0-based document index; undefined when the file could not be split into documents. */
  documentIndex?: number;
  line: number;
  column?: number;
  /** `Kind/[namespace/]name` when the object's identity is known. */
  key?: string;
  /** Field path in kubectl style, e.g. `spec.subnets[1].cidr`. */
  field?: string;
  message: string;
}

export interface AdmittedObject {
  key: string;
  object: AnyResource;
  source: SourceRef;
}

export interface AdmissionResult {
  /** Valid objects by key, in input order. */
  objects: Map<string, AdmittedObject>;
  /** Every error, sorted by file name, then document and line. */
  errors: AdmissionError[];
  /** Objects whose identity is known but which are invalid, with their errors. */
  invalid: Map<string, AdmissionError[]>;
  /** Files with at least one error. Objects that came from them before must not be deleted. */
  heldFiles: Set<string>;
  /** Documents that are not netform objects (another API group), which admission leaves alone. */
  skipped: { file: string; documentIndex: number; line: number; what: string }[];
  /** Files with documents written in a deprecated version (still admitted), one entry per file and
   *  version: how many, the first one's index and line, and the version's warning (file mode). */
  deprecated?: { file: string; documentIndex: number; line: number; documents: number; apiVersion: string; warning: string }[];
}

/** An object as the Kubernetes API returns it (cluster mode). */
export interface ApiObject {
  apiVersion?: string;
  kind?: string;
  /** Unchecked: admission checks it. */
  metadata?: Partial<ObjectMeta>;
  spec?: unknown;
  status?: unknown;
}
