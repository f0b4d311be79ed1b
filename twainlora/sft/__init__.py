"""Tagged records to chat-format SFT records: instructions, synthetic data, tool episodes, splits."""
