/**
 * us-east-1 list prices the cost figures use, with the date they were taken
 * and where from. Free tiers are ignored (a bill at scale does not have them).
 */
export const PRICES_DATE = "2026-11-21";

export const PRICES = {
  /** Lambda, arm64 (the construct builds arm64 functions), per GB-second. x86 would be $0.0000166667. */
  lambdaGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  /** SQS standard queue, per million requests (each 64 KB chunk of a payload is one request). */
  sqsPerMillionRequests: 0.4,
  /** DynamoDB on-demand, per million write / read request units (after AWS's November 2024 cut of 50%). */
  dynamoPerMillionWru: 0.625,
  dynamoPerMillionRru: 0.125,
  /** Kinesis Data Streams, provisioned mode: per shard-hour and per million PUT payload units (25 KB each). */
  kinesisShardHour: 0.015,
  kinesisPerMillionPutUnits: 0.014,
  /** EventBridge scheduled rules: no charge. */
  eventBridgeSchedule: 0,
  /** CloudWatch Logs ingestion, per GB. */
  logsPerGb: 0.5,
  /** Amazon Managed Service for Apache Flink, per KPU-hour; an application needs at least 1 KPU plus 1 for orchestration. */
  flinkKpuHour: 0.11,
} as const;

export const PRICE_SOURCES: readonly { item: string; price: string; source: string }[] = [
  { item: "Lambda duration (arm64)", price: "$0.0000133334 per GB-s (x86: $0.0000166667)", source: "https://aws.amazon.com/lambda/pricing/" },
  { item: "Lambda requests", price: "$0.20 per million", source: "https://aws.amazon.com/lambda/pricing/" },
  { item: "SQS standard requests", price: "$0.40 per million (64 KB chunks)", source: "https://aws.amazon.com/sqs/pricing/" },
  { item: "DynamoDB on-demand writes", price: "$0.625 per million WRU", source: "https://aws.amazon.com/dynamodb/pricing/on-demand/ (50% cut of November 2024; was $1.25)" },
  { item: "DynamoDB on-demand reads", price: "$0.125 per million RRU", source: "https://aws.amazon.com/dynamodb/pricing/on-demand/ (was $0.25)" },
  { item: "Kinesis shard-hour (provisioned)", price: "$0.015", source: "https://aws.amazon.com/kinesis/data-streams/pricing/" },
  { item: "Kinesis PUT payload units", price: "$0.014 per million (25 KB units)", source: "https://aws.amazon.com/kinesis/data-streams/pricing/" },
  { item: "EventBridge scheduled rule", price: "free", source: "https://aws.amazon.com/eventbridge/pricing/" },
  { item: "CloudWatch Logs ingestion", price: "$0.50 per GB", source: "https://aws.amazon.com/cloudwatch/pricing/" },
  { item: "Managed Service for Apache Flink", price: "$0.11 per KPU-hour; ≥ 2 KPUs (1 + 1 orchestration) ≈ $160.60 a month, plus 50 GB running storage per KPU at $0.10/GB-month", source: "https://aws.amazon.com/managed-service-apache-flink/pricing/, https://docs.aws.amazon.com/managed-flink/latest/java/how-pricing.html" },
];

export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
