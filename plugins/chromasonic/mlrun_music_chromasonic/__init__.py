"""chromasonic: melody models on folk tunes (an mlrun plugin)."""
