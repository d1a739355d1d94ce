//go:build !race

package slack_test

const raceDetector = false
