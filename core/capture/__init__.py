"""Face capture from other tools: ARKit blend-shape takes recorded on an iPhone (`live_link`)."""
