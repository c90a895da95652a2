/**
 * us-east-1 list prices the cost figures use, with where each comes from and
 * the date they were taken. Free tiers are ignored (a bill at scale does not
 * have them). The bench's machine has no network: the prices were copied from
 * the pages named below, not fetched by the bench.
 */
export const PRICES_DATE = "2026-11-21";

export const PRICES = {
  /** Lambda, arm64 (the construct builds arm64 functions), per GB-second. x86 would be $0.0000166667. */
  lambdaGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  /** SQS standard queue, per million requests (each 64 KB chunk of a payload is one request). */
  sqsPerMillionRequests: 0.4,
  /** DynamoDB on-demand, per million write / read request units (after AWS's November 2024 cut of 50%), and storage. */
  dynamoPerMillionWru: 0.625,
  dynamoPerMillionRru: 0.125,
  dynamoStorageGbMonth: 0.25,
  /** S3 Standard: PUT, COPY, POST, LIST per 1,000 requests; GET and others per 1,000; storage per GB-month. */
  s3PutPerThousand: 0.005,
  s3GetPerThousand: 0.0004,
  s3StorageGbMonth: 0.023,
  /** Kinesis Data Streams, provisioned mode: per shard-hour and per million PUT payload units (25 KB each). */
  kinesisShardHour: 0.015,
  kinesisPerMillionPutUnits: 0.014,
  /** EventBridge scheduled rules: no charge. */
  eventBridgeSchedule: 0,
  /** CloudWatch Logs: ingestion (standard class) per GB, storage per GB-month. */
  logsIngestPerGb: 0.5,
  logsStorageGbMonth: 0.03,
  /** CloudWatch custom metrics (EMF creates them), per metric-month, pro-rated by the hour a metric receives data. */
  metricMonth: 0.3,
  /** CloudWatch alarms, standard resolution, per alarm metric-month; dashboards per dashboard-month. */
  alarmMonth: 0.1,
  dashboardMonth: 3.0,
  /** Amazon Managed Service for Apache Flink, per KPU-hour; an application needs at least 1 KPU plus 1 for orchestration. */
  flinkKpuHour: 0.11,
} as const;

export const PRICE_SOURCES: readonly { item: string; price: string; source: string }[] = [
  { item: "Lambda duration (arm64)", price: "$0.0000133334 per GB-s (x86: $0.0000166667)", source: "https://aws.amazon.com/lambda/pricing/" },
  { item: "Lambda requests", price: "$0.20 per million", source: "https://aws.amazon.com/lambda/pricing/" },
  { item: "SQS standard requests", price: "$0.40 per million (64 KB chunks)", source: "https://aws.amazon.com/sqs/pricing/" },
  {
    item: "DynamoDB on-demand writes",
    price: "$0.625 per million WRU",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/ (50% cut of November 2024; was $1.25)",
  },
  { item: "DynamoDB on-demand reads", price: "$0.125 per million RRU", source: "https://aws.amazon.com/dynamodb/pricing/on-demand/ (was $0.25)" },
  { item: "DynamoDB storage", price: "$0.25 per GB-month", source: "https://aws.amazon.com/dynamodb/pricing/on-demand/" },
  { item: "S3 Standard requests", price: "PUT $0.005 per 1,000; GET $0.0004 per 1,000", source: "https://aws.amazon.com/s3/pricing/" },
  { item: "S3 Standard storage", price: "$0.023 per GB-month", source: "https://aws.amazon.com/s3/pricing/" },
  { item: "Kinesis shard-hour (provisioned)", price: "$0.015", source: "https://aws.amazon.com/kinesis/data-streams/pricing/" },
  { item: "Kinesis PUT payload units", price: "$0.014 per million (25 KB units)", source: "https://aws.amazon.com/kinesis/data-streams/pricing/" },
  { item: "EventBridge scheduled rule", price: "free", source: "https://aws.amazon.com/eventbridge/pricing/" },
  { item: "CloudWatch Logs", price: "$0.50 per GB ingested; $0.03 per GB-month stored", source: "https://aws.amazon.com/cloudwatch/pricing/" },
  {
    item: "CloudWatch custom metrics",
    price: "$0.30 per metric-month (first 10,000), pro-rated by the hour",
    source: "https://aws.amazon.com/cloudwatch/pricing/",
  },
  { item: "CloudWatch alarms", price: "$0.10 per standard-resolution alarm metric-month", source: "https://aws.amazon.com/cloudwatch/pricing/" },
  { item: "CloudWatch dashboards", price: "$3.00 per dashboard-month", source: "https://aws.amazon.com/cloudwatch/pricing/" },
  {
    item: "Managed Service for Apache Flink",
    price: "$0.11 per KPU-hour; ≥ 2 KPUs (1 + 1 orchestration) ≈ $160.60 a month",
    source: "https://aws.amazon.com/managed-service-apache-flink/pricing/, https://docs.aws.amazon.com/managed-flink/latest/java/how-pricing.html",
  },
];

export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
export const MINUTES_PER_MONTH = HOURS_PER_MONTH * 60;
/** A Lambda function's CPU share: one full vCPU at 1,769 MB, in proportion below. */
export const FULL_VCPU_MB = 1769;
