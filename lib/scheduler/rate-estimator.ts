/**
 * Backpressure: Spark's PIDRateEstimator. After each completed batch it
 * compares the rate the app processed records at with the rate it was fed,
 * and sets the next rate so that processing keeps up and the scheduling
 * delay drains:
 *
 *   processingRate  = records / processingTime
 *   error           = latestRate - processingRate
 *   historicalError = schedulingDelay × processingRate / batchInterval
 *   newRate         = max(minRate, latestRate - kp·error - ki·historicalError - kd·dError/dt)
 *
 * Its state is plain data so it can travel in the batch record with the
 * input positions (the coordinator may be a different process each minute).
 */
export interface RateEstimatorState {
  readonly latestRate: number;
  readonly latestError: number;
  readonly latestTime: number;
  /** The last batch time accounted for. */
  readonly lastBatch: number;
}

export interface RateEstimatorOptions {
  proportional?: number;
  integral?: number;
  derivative?: number;
  /** Records per second the rate never goes below. @default 100 */
  minRate?: number;
}

export interface BatchStats {
  readonly time: number;
  readonly completedAt: number;
  readonly records: number;
  readonly processingMs: number;
  readonly schedulingDelayMs: number;
}

export function updateRate(
  state: RateEstimatorState | undefined,
  batch: BatchStats,
  intervalMs: number,
  options: RateEstimatorOptions = {},
): RateEstimatorState {
  const kp = options.proportional ?? 1;
  const ki = options.integral ?? 0.2;
  const kd = options.derivative ?? 0;
  const minRate = options.minRate ?? 100;
  if (batch.records <= 0 || batch.processingMs <= 0)
    return state ? { ...state, lastBatch: batch.time } : { latestRate: -1, latestError: -1, latestTime: -1, lastBatch: batch.time };
  const processingRate = (batch.records / batch.processingMs) * 1000;
  if (!state || state.latestRate < 0) {
    // The first batch with data: start from what the app just did.
    return { latestRate: processingRate, latestError: 0, latestTime: batch.completedAt, lastBatch: batch.time };
  }
  const delaySinceUpdate = Math.max(1, batch.completedAt - state.latestTime) / 1000;
  const error = state.latestRate - processingRate;
  const historicalError = (batch.schedulingDelayMs * processingRate) / intervalMs;
  const dError = (error - state.latestError) / delaySinceUpdate;
  const newRate = Math.max(minRate, state.latestRate - kp * error - ki * historicalError - kd * dError);
  return { latestRate: newRate, latestError: error, latestTime: batch.completedAt, lastBatch: batch.time };
}
