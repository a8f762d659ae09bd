"""Running the model: loading (with re-planning), sampling, decode graphs, chat sessions."""
