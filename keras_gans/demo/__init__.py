"""`python cli.py demo`: a local Gradio page over any generator export.

logic.py turns page requests into arrays and calls the export (no Gradio; tested fast); app.py lays out the page.
"""
