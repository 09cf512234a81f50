"""Entry point on the board: build the real board support and run the firmware loop."""
import board
from app import App

App(board.Board()).run()
