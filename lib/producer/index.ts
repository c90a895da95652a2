/** Producers: feeding Kinesis from code (`feed`) and from the command line (`sparkless feed`). */
export { feed, FeedError, formatBytes, InvalidInput, DEFAULT_MAX_RECORD_BYTES, MAX_RECORDS_PER_REQUEST, MAX_REQUEST_BYTES } from "./feed.js";
export type { FeedInput, FeedOptions, FeedProgress, FeedResult, PartitionKeyChoice, SkippedRecord } from "./feed.js";
export { readLines, readRecords, readDirectory, inputSize, INPUT_FORMATS, KINESIS_MAX_RECORD_BYTES } from "./lines.js";
export type { InputFormat, RecordReader } from "./lines.js";
