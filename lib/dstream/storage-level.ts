/**
 * Storage levels, with Spark's names. In Sparkless every level other than
 * NONE means one thing: the DStream's result for a batch is computed once,
 * materialized into the block store, and read from there by every job and
 * later window that needs it, instead of being recomputed from its inputs.
 *
 * Where it lives depends on the engine, not on the level: process memory in
 * the in-memory engine; DynamoDB (with TTL) on AWS, which is always
 * serialized and on durable storage. The MEMORY/DISK/SER/replication
 * distinctions are kept so Spark code compiles and reads the same; they do
 * not change behaviour.
 */
export class StorageLevel {
  private constructor(
    readonly description: string,
    readonly useMemory: boolean,
    readonly useDisk: boolean,
    readonly deserialized: boolean,
    readonly replication = 1,
  ) {}
  isValid(): boolean {
    return this.useMemory || this.useDisk;
  }
  toString(): string {
    return `StorageLevel(${this.description})`;
  }

  static readonly NONE = new StorageLevel("NONE", false, false, false);
  static readonly DISK_ONLY = new StorageLevel("DISK_ONLY", false, true, false);
  static readonly DISK_ONLY_2 = new StorageLevel("DISK_ONLY_2", false, true, false, 2);
  static readonly MEMORY_ONLY = new StorageLevel("MEMORY_ONLY", true, false, true);
  static readonly MEMORY_ONLY_2 = new StorageLevel("MEMORY_ONLY_2", true, false, true, 2);
  static readonly MEMORY_ONLY_SER = new StorageLevel("MEMORY_ONLY_SER", true, false, false);
  static readonly MEMORY_ONLY_SER_2 = new StorageLevel("MEMORY_ONLY_SER_2", true, false, false, 2);
  static readonly MEMORY_AND_DISK = new StorageLevel("MEMORY_AND_DISK", true, true, true);
  static readonly MEMORY_AND_DISK_2 = new StorageLevel("MEMORY_AND_DISK_2", true, true, true, 2);
  static readonly MEMORY_AND_DISK_SER = new StorageLevel("MEMORY_AND_DISK_SER", true, true, false);
  static readonly MEMORY_AND_DISK_SER_2 = new StorageLevel("MEMORY_AND_DISK_SER_2", true, true, false, 2);
  static readonly OFF_HEAP = new StorageLevel("OFF_HEAP", true, true, false);
}
