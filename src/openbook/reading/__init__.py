"""Reading: the extractive reader, from passages and a question to answer spans with exact offsets."""
