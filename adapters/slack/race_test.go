//go:build race

package slack_test

// raceDetector is set under -race, which runs the big backfill's JSON and
// store work about eight times slower: CI's race run reads back fewer
// messages, the plain run and BenchmarkBackfill the full 10k.
const raceDetector = true
