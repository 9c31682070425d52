"""``python -m seq2seq.data -n 20``: print pairs of the built-in dates task as TSV."""

from seq2seq.data.dates import main

main()
