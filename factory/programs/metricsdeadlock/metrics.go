package main

import (
	"sync"
	"time"
)

type MetricType int

const (
	TypeCount MetricType = iota
	TypeSet
)

type Scope int

const second Scope = 0

type Metric struct {
	Type  MetricType
	Scope Scope
	Key   string
	Value int64
}

func NewCountMetric(key string, n int64, scope Scope) Metric {
	return Metric{Type: TypeCount, Scope: scope, Key: key, Value: n}
}

func NewSetMetric(key string, v int64, scope Scope) Metric {
	return Metric{Type: TypeSet, Scope: scope, Key: key, Value: v}
}

type Metrics struct {
	inChannel      chan Metric
	outChannel     chan map[string]int64
	updateInterval time.Duration

	mu     sync.Mutex
	values map[string]int64
}

func NewMetrics(capacity int, updateInterval time.Duration) *Metrics {
	m := &Metrics{
		inChannel:      make(chan Metric, capacity),
		outChannel:     make(chan map[string]int64, 1),
		updateInterval: updateInterval,
		values:         make(map[string]int64),
	}
	go m.startInChannelConsumer()
	go m.startOutChannelConsumer()
	return m
}

// CountS increments counter per second.
func (m *Metrics) CountS(key string) {
	m.inChannel <- NewCountMetric(key, 1, second)
}

// SetM sets a gauge.
func (m *Metrics) SetM(key string, value int64) {
	m.inChannel <- NewSetMetric(key, value, second)
}

// starts a consumer for inChannel
func (m *Metrics) startInChannelConsumer() {
	nextUpdate := time.Now().Add(m.updateInterval)
	for inMetrics := range m.inChannel {
		m.mu.Lock()
		switch inMetrics.Type {
		case TypeCount:
			m.values[inMetrics.Key] += inMetrics.Value
		case TypeSet:
			m.values[inMetrics.Key] = inMetrics.Value
		}
		m.mu.Unlock()
		if time.Now().After(nextUpdate) {
			m.sendMetricsToOutChannel(second)
			nextUpdate = time.Now().Add(m.updateInterval)
		}
	}
}

//go:noinline
func (m *Metrics) sendMetricsToOutChannel(scope Scope) {
	m.mu.Lock()
	snapshot := make(map[string]int64, len(m.values))
	for k, v := range m.values {
		snapshot[k] = v
	}
	m.mu.Unlock()
	select {
	case m.outChannel <- snapshot:
	default:
	}
	m.SetM("metrics.raw_channel", int64(len(m.inChannel)))
}

// starts a consumer for outChannel
func (m *Metrics) startOutChannelConsumer() {
	for snapshot := range m.outChannel {
		_ = snapshot // a real service would ship these to a metrics backend
	}
}
