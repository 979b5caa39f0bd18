"""The faces: how people reach the library. Nothing below this package imports it.

In: what a person types (CLI arguments, the chat's messages and uploads). Out: terminal text
(`cli`, `render`), the Gradio chat (`ui` lays it out, `handlers` answers its events, `uploads`
adds files) and its HTML (`render_html`).
"""
