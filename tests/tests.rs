mod cli {}
