// Package metal runs lowered Programs on Apple GPUs.
package metal
