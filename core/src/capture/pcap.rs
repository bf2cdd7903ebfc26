//! Classic libpcap format (µs and ns magic, both byte orders).
